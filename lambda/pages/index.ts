/** The HTML layer of the interactive flow: renders what the core decided (lambda/core/authorize/interaction.ts). */
export { contentSecurityPolicy, type PageOptions, renderInteraction } from './render';
