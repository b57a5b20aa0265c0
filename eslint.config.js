// ESLint (flat config) with typescript-eslint: the rooms' import arrows, checked by a machine,
// plus typescript-eslint's type-aware recommended rules. `npm run lint`; `npm test` runs it first.
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

/**
 * The rooms of src/ and the rooms each one must never import (README "Layout"). src/common and
 * src/log.ts import no room, so every room may use them.
 */
export const FORBIDDEN_IMPORTS = {
  protocol: ['kernel', 'shell', 'lab', 'introspect', 'cli'],
  kernel: ['cli'],
  shell: ['kernel', 'protocol', 'introspect', 'cli'],
  introspect: ['kernel', 'protocol', 'cli'],
  lab: ['kernel', 'protocol', 'shell', 'introspect', 'cli'],
  common: ['protocol', 'kernel', 'shell', 'introspect', 'lab', 'cli'],
};

export const roomRules = Object.entries(FORBIDDEN_IMPORTS).map(([room, forbidden]) => ({
  files: [`src/${room}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            // Relative paths that leave this room for a forbidden one: ../kernel/x.js, ../../shell/x.js
            regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
            message: `src/${room} must not import src/{${forbidden.join(',')}} (README "Layout": the rooms and their arrows).`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.venv/**', 'eslint.config.js', 'bench/**', 'scripts/**', 'docker/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)) } },
  },
  {
    rules: {
      // Off: async functions that return at once are how this code meets Promise-returning
      // interfaces (handler tables, transports, test doubles); wrapping them would be churn.
      '@typescript-eslint/require-await': 'off',
      // Off: the stream parser compares text it has just split off a marker with its string enum
      // (MarkerKind); that comparison is the parser's job.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // `_name` marks a variable that is there on purpose (a destructured field left out).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read JSON from Python drivers, the wire and browsers, and poke at internals: typing
    // every reply, assertion and callback would be a rewrite of the suites, not a fix.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  ...roomRules,
);
