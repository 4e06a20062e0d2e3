#!/usr/bin/env node
import '../dist/zdb/main.js';
