#!/usr/bin/env node
import { runBin } from '@nflog-pipe/shared';
import { main } from '../dist/src/cli.js';

runBin(main);
