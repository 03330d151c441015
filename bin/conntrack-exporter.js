#!/usr/bin/env node
'use strict';
require('./load.js').load('exporter/main.js').main(process.argv);
