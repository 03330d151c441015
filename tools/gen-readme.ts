/**
 * Rewrites the generated sections of README.md (tools/readme-sections.ts):
 * the option list and the JSON output's member tables.
 *
 *   node dist/tools/gen-readme.js          (after tsc; after changing the option table or the schema)
 *   node dist/tools/gen-readme.js --check  (exit 1 when README.md is out of date)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { generatedReadme, README_FILE } from './readme-sections';

{
  const current = readFileSync(README_FILE, 'utf8');
  const wanted = generatedReadme(current);
  if (process.argv.includes('--check')) {
    if (wanted !== current) {
      process.stderr.write('README.md is out of date: run `node dist/tools/gen-readme.js`\n');
      process.exitCode = 1;
    }
  } else if (wanted !== current) {
    writeFileSync(README_FILE, wanted);
  }
}
