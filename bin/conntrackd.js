#!/usr/bin/env node
'use strict';
require('./load.js').load('conntrackd/main.js').main(process.argv);
