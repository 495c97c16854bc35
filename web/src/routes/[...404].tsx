import { Title } from '@solidjs/meta';
import { HttpStatusCode } from '@solidjs/start';

export default function NotFound() {
  return (
    <div class="auth-page">
      <Title>Not found · Aegis</Title>
      <HttpStatusCode code={404} />
      <div class="auth-card">
        <h1>Page not found</h1>
        <p class="lede">There is nothing at this address.</p>
        <a class="btn btn-primary btn-block" href="/">
          Back to the console
        </a>
      </div>
    </div>
  );
}
