// /metrics: Prometheus text with request latency labelled by route pattern (never the raw URL),
// so ids in paths and 404 probes cannot multiply the series.
import t from 'tap';
import { setup } from '../../../../test/harness.ts';

const env = await setup(t);

t.test('latency is recorded by route pattern, method and status', async (t) => {
  const { cookie } = await env.register();
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200);
  t.equal((await env.request('GET', '/api/no/such/route/12345')).status, 404);
  const res = await env.request('GET', '/metrics');
  t.equal(res.status, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const text = res.body as string;
  t.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/api\/auth\/me",status_code="200"\} [1-9]/m);
  t.match(text, /^http_request_duration_seconds_count\{method="POST",route="\/api\/auth\/register",status_code="201"\} [1-9]/m);
  t.match(text, /^http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} [1-9]/m);
  t.notMatch(text, /12345/, 'no raw URL in any label');
  t.match(text, /^process_resident_memory_bytes \d/m, 'process metrics too');
  t.match(text, /^dependency_up\{dependency="redis"\} 1$/m, 'Redis answers');
  t.match(text, /^dependency_up\{dependency="postgres"\} 1$/m, 'Postgres answers');
  t.match(text, /^jobs_queued\{state="waiting"\} \d+$/m, 'the job backlog');
});
