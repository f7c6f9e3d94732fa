// API.md: the API reference of the `.jsii` assembly, rendered by jsii-docgen (TypeScript names), as Construct Hub
// renders it. Shared by scripts/jsii.mjs, which writes it, and test/package/jsii.test.ts, which checks that the
// committed API.md is what the assembly renders.
const { Documentation, Language } = require('jsii-docgen');

/** The API reference of the assembly in `root` (its package.json and `.jsii`), as Markdown. */
async function renderApiReference(root) {
  const documentation = await Documentation.forProject(root);
  try {
    const markdown = await documentation.toMarkdown({ language: Language.TYPESCRIPT, readme: false });
    return `${markdown.render().trimEnd()}\n`;
  } finally {
    await documentation.cleanup();
  }
}

module.exports = { renderApiReference };
