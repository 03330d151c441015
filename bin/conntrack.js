#!/usr/bin/env node
'use strict';
require('./load.js').load('cli/main.js').main(process.argv);
