/**
 * `npm pack` (prepack): puts the addon built here into prebuilds/ for the
 * platform it was built for, where native/install.js and the loader
 * (src/netlink/socket.ts) look for it. Only linux-x64 with glibc is shipped;
 * elsewhere nothing is copied and installs build from source.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const built = path.join(ROOT, 'build', 'Release', 'netlink_socket.node');
const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;

if (process.platform === 'linux' && process.arch === 'x64' && glibc !== undefined) {
  if (!existsSync(built)) throw new Error(`prebuild: ${built} is missing: run npm run build first`);
  const dir = path.join(ROOT, 'prebuilds', 'linux-x64-glibc');
  mkdirSync(dir, { recursive: true });
  copyFileSync(built, path.join(dir, 'netlink_socket.node'));
}
