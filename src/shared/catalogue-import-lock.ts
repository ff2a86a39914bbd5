// The advisory lock a catalogue import holds for its whole transaction (src/anime/import/importer.ts).
// A list import takes it shared first (src/list/queries.ts): both lock anime rows and list entries, in
// opposite orders, so without it one of them could be ended by a deadlock, the catalogue import too.
export const CATALOGUE_IMPORT_LOCK = 0x6c756d61; // "luma"
