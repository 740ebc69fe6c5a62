#!/usr/bin/env node
import { runBin } from '@nflog-pipe/shared';
import { mainCompress } from '../dist/src/compress-cli.js';
runBin(mainCompress);
