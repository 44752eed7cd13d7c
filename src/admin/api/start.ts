/**
 * Which config a start runs when the admin API keeps versions
 * (docs/admin-api.md#file-or-api):
 * - source_of_truth: file — the file, unless the latest stored version was
 *   made through the API on this very file text (same SHA-256): then that
 *   version, so API changes survive a restart; a file edited since wins.
 * - source_of_truth: api — the latest stored version, with the file's admin
 *   section (the one part the file owns).
 */
import type { Logger } from 'pino';
import type { SourceText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { editable, keepAdminSection, readData, sha256, writeData } from './document.js';
import { databasePath } from './index.js';
import { VersionStore } from './versions.js';

export function storedStart(config: Config, configFile: string, file: SourceText, logger: Logger): SourceText | undefined {
  const api = config.admin?.api;
  const path = api && databasePath(api, configFile);
  if (!api || path === undefined) return undefined;
  const store = new VersionStore(path, api.history);
  try {
    const latest = store.latest();
    if (!latest || latest.text === file.text) return undefined;
    if (api.source_of_truth === 'file') {
      if (latest.kind === 'file' || latest.fileHash !== sha256(file.text)) {
        if (latest.kind !== 'file') logger.warn({ version: latest.id }, 'the config file changed since the last admin API change: the file wins (source_of_truth: file); the API versions stay in the history');
        return undefined;
      }
      logger.info({ version: latest.id, actor: latest.actor }, 'starting from the admin API version stacked on this config file');
      return { ...file, text: latest.text };
    }
    const data = editable(latest.text);
    keepAdminSection(data, readData(file.text));
    logger.info({ version: latest.id, actor: latest.actor }, 'starting from the latest stored config version (source_of_truth: api)');
    return { ...file, text: writeData(data) };
  } finally {
    store.close();
  }
}
