// The profile picture catalogue, kept in one data file (pictures.json).
import catalogue from "./pictures.json";
import type { Picture } from "./schemas.ts";

const pictureUrl = (slug: string) => `https://www.anime-planet.com/images/characters/${slug}.jpg`;
const toPicture = ({ id, name, slug }: { id: number; name: string; slug: string }): Picture => ({ id, name, picture: pictureUrl(slug) });

export const picturesByGroup = {
  male: catalogue.male.map(toPicture),
  female: catalogue.female.map(toPicture),
};

const byId = new Map([...picturesByGroup.male, ...picturesByGroup.female].map((picture) => [picture.id, picture]));

export function findPicture(id: number): Picture | undefined {
  return byId.get(id);
}

/** `7` or `"7"`; anything else is not a picture id. */
export function parsePictureId(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}
