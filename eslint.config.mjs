// Two rule sets for the shipped code, as `n8n-node lint` applies them:
//  - @n8n/eslint-plugin-community-nodes (n8n's community-node rules: no runtime deps, restricted imports
//    and globals, credential tests, usableAsTool, ...), on nodes/, credentials/ and package.json;
//  - eslint-plugin-n8n-nodes-base's node, credential and package rules.
// Tests, the simulator, scripts and the benchmark run on plain Node and get a config that suits them.
import eslint from '@eslint/js';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';
import tseslint from 'typescript-eslint';

const communityRecommended = n8nCommunityNodesPlugin.configs.recommended;

export default tseslint.config(
	{ ignores: ['dist/**', 'node_modules/**', '.cache/**', '.tmp/**', 'coverage/**', 'demo-output/**', '**/*.js', '**/*.mjs'] },
	{
		files: ['**/*.ts'],
		extends: [eslint.configs.recommended, tseslint.configs.recommended],
		rules: {
			'prefer-spread': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		plugins: { ...communityRecommended.plugins, 'n8n-nodes-base': n8nNodesBase },
		rules: { ...communityRecommended.rules },
	},
	{
		files: ['credentials/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
			'n8n-nodes-base/node-param-type-options-max-value-present': 'off',
		},
	},
	{
		files: ['package.json'],
		plugins: { ...communityRecommended.plugins, 'n8n-nodes-base': n8nNodesBase },
		languageOptions: { parser: tseslint.parser, parserOptions: { extraFileExtensions: ['.json'] } },
		rules: { ...communityRecommended.rules, ...n8nNodesBase.configs.community.rules },
	},
	{
		files: ['test/**/*.ts', 'simulator/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
		rules: {
			'@typescript-eslint/no-explicit-any': 'off',
			'@typescript-eslint/no-require-imports': 'off',
			'no-empty': ['error', { allowEmptyCatch: true }],
		},
	},
);
