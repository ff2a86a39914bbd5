// A user's profile as the API shows it (GET /account/profile's data, and the export's profile), and
// the profile picture catalogue it names pictures from (kept in one data file, pictures.json).
import { t } from "elysia";
import catalogue from "./pictures.json";

export const Picture = t.Object({ id: t.Integer(), name: t.String(), picture: t.String() });
export type Picture = typeof Picture.static;

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

export const ProfileData = t.Object({
  id: t.Integer(),
  username: t.String(),
  email: t.String(),
  created: t.String({ pattern: "^\\d{2}-\\d{2}-\\d{4}$", description: "Registration date (UTC), DD-MM-YYYY" }),
  picture: t.String({ description: "The chosen picture's URL, or the default picture's" }),
});
export type ProfileData = typeof ProfileData.static;

export const PROFILE_EXAMPLE: ProfileData = {
  id: 2,
  username: "test1",
  email: "test@test.com1",
  created: "09-01-2021",
  picture: "https://www.anime-planet.com/images/characters/erza-scarlet.jpg",
};

export interface ProfileRecord {
  id: number;
  username: string;
  email: string;
  created: Date;
  pictureId: number | null;
}

export function profileData(profile: ProfileRecord, defaultPictureUrl: string): ProfileData {
  const picture = profile.pictureId === null ? undefined : findPicture(profile.pictureId);
  return {
    id: profile.id,
    username: profile.username,
    email: profile.email,
    created: formatCreated(profile.created),
    picture: picture?.picture ?? defaultPictureUrl,
  };
}

/** DD-MM-YYYY, in UTC. */
function formatCreated(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}-${pad(date.getUTCMonth() + 1)}-${date.getUTCFullYear()}`;
}
