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
    // The core is pure: it imports only the core and the wire types (STYLE.md: dependencies point inward).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'http', 'child_process', 'os', 'path'], message: 'core is pure: no Node APIs' },
          { group: ['fastify', 'pino', '@kubernetes/*', 'prom-client', 'lru-cache'], message: 'core is pure: no frameworks' },
          { group: ['../adapters/*', '../agent/*', '../cmd/*', '../config/*'], message: 'core imports only core and wire' },
        ],
      }],
    },
  },
);
