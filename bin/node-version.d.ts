// Types of bin/node-version.js (plain JavaScript, so that any Node can run it).

export interface NodeRequirement {
  /** The semver range, as in package.json engines. */
  range: string;
  /** The same, in words for people. */
  words: string;
  oldest: string;
  /** Major lines not supported although newer than `oldest`. */
  skip: string[];
}
export const INSTALL_NODE: NodeRequirement;
export const CLI_NODE: NodeRequirement;
export function satisfies(version: string, need: NodeRequirement): boolean;
export function tooOldMessage(version: string, need: NodeRequirement, what: string): string;
export function checkNode(need: NodeRequirement, what: string, version?: string): boolean;
