/** The node's version string (status, RPC, `pouw --version`), apart from the node so the CLI can name it without loading the node. */
export const NODE_VERSION = "pouw/0.1.0";
