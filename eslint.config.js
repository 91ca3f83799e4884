import tseslint from 'typescript-eslint';

// The house's boundaries (docs/architecture.md). no-restricted-imports patterns are gitignore-style
// and match anywhere in the specifier, so '**/extender/**' catches '../extender/x.js' and '../../extender/y.js'.
const NODE_APIS = { regex: '^(node:|fs$|http$|https$|net$|child_process$|os$|path$)', message: 'core is pure: no Node APIs (STYLE.md)' };
const NO_TEST = { group: ['**/test/**', '**/bench/**'], message: 'product code never imports tests or benches' };

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
    // Size: a file a reader can hold in mind, a function that fits a screen. A longer function says why
    // in an eslint-disable comment with a reason.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 450, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false }],
      'no-restricted-imports': ['error', { patterns: [NO_TEST] }],
    },
  },
  {
    // The core is pure: it imports only the core and the wire types (STYLE.md: dependencies point inward).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          NODE_APIS,
          { regex: '^[^.]', message: 'core is pure: no packages (frameworks, clients, loggers)' },
          { group: ['**/extender/**', '**/agent/**', '**/cli/**', '**/cmd/**', '**/config/**', '**/localcluster/**'], message: 'core imports only core and wire' },
          NO_TEST,
        ],
      }],
    },
  },
  {
    files: ['src/wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          NODE_APIS,
          { regex: '^[^.]', message: 'wire holds types and names only: no packages' },
          { group: ['**/core/**', '**/extender/**', '**/agent/**', '**/cli/**', '**/cmd/**', '**/config/**', '**/localcluster/**'], message: 'wire is the bottom layer: it imports only wire' },
        ],
      }],
    },
  },
  {
    // The two programs share core, wire and config, never each other.
    files: ['src/extender/**/*.ts'],
    ignores: ['src/extender/http/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/agent/**', '**/localcluster/**', '**/cli/**', '**/cmd/**'], message: 'the extender imports neither the node agent nor the tools built on it' }, NO_TEST],
      }],
    },
  },
  {
    // HTTP routes decode, call the service and encode: no Kubernetes client code.
    files: ['src/extender/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@kubernetes/*', '**/kube/**'], message: 'HTTP routes import no Kubernetes client code: they call the service' },
          { group: ['**/agent/**', '**/localcluster/**', '**/cli/**', '**/cmd/**'], message: 'the extender imports neither the node agent nor the tools built on it' },
          NO_TEST,
        ],
      }],
    },
  },
  {
    files: ['src/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/extender/**', '**/localcluster/**', '**/cli/**', '**/cmd/**'], message: 'the node agent imports neither the extender nor the tools built on it' }, NO_TEST],
      }],
    },
  },
);
