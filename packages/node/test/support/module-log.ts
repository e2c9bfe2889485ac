// Preloaded into a daemon (NODE_OPTIONS=--import): appends the URL of every module it loads to
// the file MESHWORK_TEST_MODULE_LOG names.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env['MESHWORK_TEST_MODULE_LOG'];
if (file !== undefined)
  registerHooks({
    load(url, context, next) {
      appendFileSync(file, `${url}\n`);
      return next(url, context);
    },
  });
