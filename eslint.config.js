import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read decoded JSON answers field by field; typing every body would only restate the wire types.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The core is pure: it imports only the core and the wire types (STYLE.md: dependencies point inward).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'http', 'child_process', 'os', 'path'], message: 'core is pure: no Node APIs' },
          { group: ['fastify', 'pino', '@kubernetes/*', 'prom-client', 'lru-cache'], message: 'core is pure: no frameworks' },
          { group: ['../adapters/*', '../agent/*', '../cmd/*', '../config/*', '../app.js'], message: 'core imports only core and wire' },
        ],
      }],
    },
  },
);
