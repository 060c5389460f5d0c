#!/usr/bin/env node
/**
 * The CDK app: builds the one stack from the configuration in context (./build-app), and stops
 * `cdk synth` with one line naming the key when a value is invalid.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '#config/load';
import { buildApp } from './build-app';

try {
  buildApp(new App(), process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    // One line that names the key: the whole point of validating at synth time.
    console.error(`waf-autoblock: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
