import { lessonQueryInputSchema, lessonViewSchema } from '@aegis/shared/schemas/lesson';
import { z } from 'zod';
import { queryLessons } from '../lessons/service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { decisionsOf } from './proposals.ts';

/** The desk's lessons nearest to a text (cosine similarity over embeddings). */
export const lessonsRouter = createTRPCRouter({
  query: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(lessonQueryInputSchema)
    .output(z.array(lessonViewSchema))
    .query(({ ctx, input }) =>
      queryLessons(ctx.tx, ctx.desk.id, decisionsOf(ctx).embedder, input.text, input.k, input.instrument),
    ),
});
