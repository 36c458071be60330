// An S3-compatible server in-process (s3rver), for `npm start` without S3_ENDPOINT and for tests.
// The code above it talks S3 to it exactly as to AWS or MinIO. Development and tests only:
// it accepts any credentials.
import S3rver from 's3rver';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

export interface EmbeddedS3 {
  endpoint: string;
  close(): Promise<void>;
}

export async function startEmbeddedS3(directory: string, port = 0): Promise<EmbeddedS3> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => server.close(),
  };
}
