// An ESLint processor for the core's AssemblyScript: TypeScript allows no decorator on a
// top-level function, so each `@inline` becomes a comment of the same length before parsing,
// and every line and column ESLint reports stays where it was.
const DECORATOR = /@inline\b/g;

export default {
  meta: { name: "assemblyscript" },
  processors: {
    decorators: {
      preprocess: (text) => [text.replace(DECORATOR, "/*inl*/")],
      postprocess: (messages) => messages.flat(),
      supportsAutofix: true,
    },
  },
};
