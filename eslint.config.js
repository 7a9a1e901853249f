import js from "@eslint/js";
import tseslint from "typescript-eslint";
import assemblyscript from "./tools/eslint-assemblyscript.js";

export default tseslint.config(
  { ignores: ["node_modules/", "**/build/", "**/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // AssemblyScript: it has no type-only imports, its 64-bit literals are exact, and a constant
    // from `asc --use` needs a described @ts-ignore
    files: ["assembly/**/*.ts"],
    ignores: ["assembly/abi/**"],
    plugins: { assemblyscript },
    processor: "assemblyscript/decorators",
    rules: {
      "@typescript-eslint/consistent-type-imports": "off",
      "no-loss-of-precision": "off",
      "@typescript-eslint/ban-ts-comment": ["error", { "ts-ignore": "allow-with-description" }],
    },
  },
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
