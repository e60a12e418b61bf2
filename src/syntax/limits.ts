/**
 * Limits on what the parser takes, so that no input makes it recurse without bound or hand
 * the later stages names of unbounded size. docs/limits.md lists them with every other limit.
 */

/**
 * The deepest `{` the parser reads (R0004). The language itself nests three deep
 * (`model { stage { block { … } } }`); deeper braces only come from unknown statements, whose
 * contents are skipped. Deeper text is skipped too, so the parser's recursion stays bounded.
 */
export const maxNesting = 32;

/**
 * The longest token, in characters (R0005): names, numbers, sizes and quoted paths.
 * Comments may be of any length. A name is repeated in every layer name built from it, so a
 * name of a megabyte would make gigabytes of layer names.
 */
export const maxTokenLength = 1000;
