// Runes only, everywhere in the dashboard.
export default {
  compilerOptions: { runes: true },
};
