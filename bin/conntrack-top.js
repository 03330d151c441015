#!/usr/bin/env node
'use strict';
require('./load.js').load('top/main.js').main(process.argv);
