// STAND-IN until the search engine (branch search-engine) lands: a plain normalised substring
// matcher with the engine's interface. Replaced by the engine's files on merge.
export interface SearchDocument {
  id: number;
  title: string;
  synonyms: string[];
}

const normalise = (text: string) =>
  text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "");

export class SearchIndex {
  private constructor(
    private readonly ids: Int32Array,
    private readonly texts: string[][],
  ) {}

  static build(documents: Iterable<SearchDocument>): SearchIndex {
    const ids: number[] = [];
    const texts: string[][] = [];
    for (const document of documents) {
      ids.push(document.id);
      texts.push([document.title, ...document.synonyms].map(normalise));
    }
    return new SearchIndex(Int32Array.from(ids), texts);
  }

  search(q: string): Int32Array {
    const needle = normalise(q);
    if (needle === "") return new Int32Array(0);
    const exact: number[] = [];
    const partial: number[] = [];
    this.texts.forEach((texts, i) => {
      if (texts.includes(needle)) exact.push(this.ids[i]!);
      else if (texts.some((text) => text.includes(needle))) partial.push(this.ids[i]!);
    });
    return Int32Array.from([...exact, ...partial]);
  }

  get memoryBytes(): number {
    return this.texts.reduce((sum, texts) => sum + texts.reduce((s, t) => s + t.length * 2, 0), this.ids.byteLength);
  }
}
