import t from 'tap';
import { setup } from '../../../../../test/harness.ts';

const env = await setup(t);

t.test('register returns the user object and a session cookie', async (t) => {
  const res = await env.request('POST', '/api/auth/register', {
    json: { username: '  Alice ', email: 'Alice@Example.com', password: 'password123' },
  });
  t.equal(res.status, 201);
  t.same(Object.keys(res.body).sort(), ['avatar', 'created_at', 'custom_status', 'email', 'id', 'status', 'username']);
  t.equal(res.body.username, 'Alice');
  t.equal(res.body.email, 'alice@example.com');
  t.match(res.body.id, /^\d{1,20}$/);
  t.ok(res.cookie);
  const me = await env.request('GET', '/api/auth/me', { cookie: res.cookie });
  t.equal(me.status, 200);
  t.equal(me.body.id, res.body.id);
});
