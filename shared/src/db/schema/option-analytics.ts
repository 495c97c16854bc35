/** Tables of this area are defined here (see the migration beside its number in drizzle/). */
export {};
