import path from 'node:path';
import { createRequire } from 'node:module';
import express, { Router, type Response } from 'express';

const require = createRequire(import.meta.url);
const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>HIPAA AI Risk API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, withCredentials: true });`;

function withDocsCsp(res: Response): void {
  res.setHeader('Content-Security-Policy', DOCS_CSP);
}

/**
 * `GET /openapi.json` and browsable documentation at `/docs` (Swagger UI served from the
 * swagger-ui-dist package: no CDN; scripts and styles only from this origin, no inline code).
 */
export function docsRoutes(document: () => Record<string, unknown>): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(document());
  });
  router.get('/docs', (_req, res) => {
    withDocsCsp(res);
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    withDocsCsp(res);
    res.type('application/javascript').send(INIT);
  });
  router.use(
    '/docs/assets',
    (_req, res, next) => {
      withDocsCsp(res);
      next();
    },
    express.static(SWAGGER_DIR, { index: false, fallthrough: false, maxAge: '1h' }),
  );
  return router;
}
