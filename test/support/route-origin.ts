/** The fetch the MCP SDK client takes (`StreamableHTTPClientTransport`'s `fetch` option, and its discovery). */
export type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that sends requests for `from` (an origin) to `to`, as a port forward or a hosts entry would: the MCP SDK
 * client requires the protected resource metadata's `resource` to share an origin with the URL it connects to, so a
 * test reaches the demo resource `http://localhost:3001/mcp` on an MCP server listening on a free port this way.
 * Every other URL is fetched as it is.
 */
export function routeOrigin(from: string, to: string): Fetch {
  return (input, init) => {
    const url = new URL(String(input));
    return fetch(url.origin === from ? `${to}${url.pathname}${url.search}` : url, init);
  };
}
