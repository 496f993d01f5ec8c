// ESLint for the panel's TypeScript and the fleet page's JavaScript
// (`make lint`); formatting is prettier's (.prettierrc), not ESLint's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'lib/',
      'node_modules/',
      'jupyter_session_ext/labextension/',
      'ui-tests/',
      'jupyter_session_ext/hub/static/format.js',
      '.venv/',
      '.venv-min-*/',
      '.venv-peers/',
      '.venv-compat/',
      '.upstream/'
    ]
  },
  {
    files: ['labextension/src/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: globals.browser },
    rules: {
      // The classic two; the React Compiler's own rules do not apply here.
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // JupyterLab's convention: a class's option types in a namespace of its name.
      '@typescript-eslint/no-namespace': 'off'
    }
  },
  {
    files: ['jupyter_session_ext/hub/static/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.browser, sourceType: 'module' }
  },
  {
    files: ['labextension/webpack.config.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' }
  },
  {
    files: ['labextension/test/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node, sourceType: 'module' }
  },
  prettier
);
