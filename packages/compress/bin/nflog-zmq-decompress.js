#!/usr/bin/env node
import { runBin } from '@nflog-pipe/shared';
import { mainDecompress } from '../dist/src/decompress-cli.js';
runBin(mainDecompress);
