// A prettier plugin for the core's AssemblyScript: TypeScript allows no decorator on a
// top-level function, so `@inline` is hidden in a block comment before parsing and printed back
// as it was. The rest is prettier's own TypeScript formatting.
import typescript from "prettier/plugins/typescript";
import estree from "prettier/plugins/estree";

const MARK = "@as:";
const DECORATOR = /^([ \t]*)@(inline)[ \t]+/gm;

const base = estree.printers.estree;

export default {
  parsers: {
    typescript: {
      ...typescript.parsers.typescript,
      astFormat: "assemblyscript",
      preprocess: (text) => text.replace(DECORATOR, `$1/*${MARK}$2*/ `),
    },
  },
  printers: {
    assemblyscript: {
      ...base,
      printComment(path, options) {
        const comment = path.node;
        if (comment.type === "Block" || comment.type === "CommentBlock") {
          if (comment.value.startsWith(MARK)) return `@${comment.value.slice(MARK.length)}`;
        }
        return base.printComment(path, options);
      },
    },
  },
};
