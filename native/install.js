'use strict';
/*
 * `npm install` of the package: the prebuilt addon (prebuilds/, linux-x64
 * with glibc) is used when it loads on this machine, so no compiler is
 * needed there; anywhere else the addon is built from source (node-gyp).
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}-glibc`, 'netlink_socket.node');

function loads(file) {
  try {
    require(file);
    return true;
  } catch {
    return false;
  }
}

if (!(existsSync(prebuilt) && loads(prebuilt))) {
  const build = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
  process.exitCode = build.status ?? 1;
}
