// Type-aware lint: the rule that matters most here is no-floating-promises (a dropped
// promise on the packet path loses errors silently).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/build/**',
      'node_modules/**',
      '**/bin/**',
      '**/*.mjs',
      '**/*.cjs',
      'eslint.config.js',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs these itself; their promises are not dropped.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A `let` captured by a callback before its one assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Test support is dev-only and never shipped: shipped code must not import it. (tsc would
    // not object: the package resolves through node_modules like any other.)
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nflog-pipe/testing', '@nflog-pipe/testing/*'],
              message: 'test support is a devDependency: import it from test/ only',
            },
          ],
        },
      ],
    },
  },
  {
    // Test actions are often async only to satisfy an interface.
    files: ['packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
);
