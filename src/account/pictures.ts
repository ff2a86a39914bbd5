// Choosing a profile picture: the catalogue itself is shared vocabulary (src/shared/profile.ts).
export { findPicture, picturesByGroup } from "../shared/profile.ts";

/** `7` or `"7"`; anything else is not a picture id. */
export function parsePictureId(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}
