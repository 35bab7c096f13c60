// Print the MCP server configuration that an MCP Bundle host builds from manifest.json and a user's settings.
//
// It calls getMcpConfigForManifest from @anthropic-ai/mcpb, the code that hosts such as Claude Desktop use
// to substitute ${__dirname} and ${user_config.*} into mcp_config.
// Usage: node resolve-mcp-config.mjs MANIFEST EXTENSION_DIR USER_CONFIG_JSON
import { readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [manifestPath, extensionPath, userConfigJson] = process.argv.slice(2);
if (!manifestPath || !extensionPath || userConfigJson === undefined) {
  console.error("usage: node resolve-mcp-config.mjs MANIFEST EXTENSION_DIR USER_CONFIG_JSON");
  process.exit(1);
}

// The mcpb package lives in .ci/node/node_modules, which is not on this script's module path.
const modules = join(dirname(fileURLToPath(import.meta.url)), "..", "..", ".ci", "node", "node_modules");
const mcpb = await import(pathToFileURL(join(modules, "@anthropic-ai", "mcpb", "dist", "index.js")).href);

const config = await mcpb.getMcpConfigForManifest({
  manifest: JSON.parse(readFileSync(manifestPath, "utf8")),
  extensionPath,
  systemDirs: { HOME: "/home/user", DESKTOP: "/home/user/Desktop", DOCUMENTS: "/home/user/Documents", DOWNLOADS: "/home/user/Downloads" },
  userConfig: JSON.parse(userConfigJson),
  pathSeparator: sep,
  logger: { warn: (message) => console.error(message) },
});
process.stdout.write(JSON.stringify(config ?? null) + "\n");
