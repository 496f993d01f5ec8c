/**
 * Merged into @jupyterlab/builder's webpack configuration (package.json's
 * `jupyterlab.webpackConfig`).
 *
 * `jlpm watch` runs tsc and webpack side by side: tsc writes lib/ from
 * labextension/src/, webpack builds the labextension from lib/. In a
 * development build webpack's source-map-loader also adds the TypeScript
 * files that lib/*.js.map names to the files webpack watches, so saving a
 * .ts file rebuilt the labextension at once from the old lib/ and printed
 * "compiled successfully" before tsc had written anything (and printed it
 * even when tsc refused the file). Webpack watches lib/, not the sources:
 * its one rebuild after a save is of what tsc wrote.
 */
module.exports = {
  watchOptions: {
    ignored: '**/labextension/src/**'
  }
};
