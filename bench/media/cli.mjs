// SPDX-License-Identifier: MIT
// The media bench's command-line options, read once for every part (run.mjs, bwe.mjs).
const argv = process.argv.slice(2);
/** True when `--name` was given. */
export const flag = (name) => argv.includes(name);
/** The word after `--name`, or `dflt`. */
export const value = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
