/**
 * JSON Schemas of report responses, published in the OpenAPI document (`components.schemas`) and
 * checked against real responses by the tests.
 */

const diffSide = {
  type: 'object',
  additionalProperties: false,
  required: ['reportId', 'assessmentId', 'revision', 'rulesets', 'overallRisk'],
  properties: {
    reportId: { type: 'string', format: 'uuid' },
    assessmentId: { type: 'string', format: 'uuid', description: 'The assessment the report is of' },
    revision: { type: 'integer', minimum: 1, description: 'The revision of that assessment the report evaluates' },
    rulesets: {
      type: 'array',
      description: 'The ruleset versions the report was evaluated under',
      items: { type: 'object', additionalProperties: false, required: ['id', 'version'], properties: { id: { type: 'string' }, version: { type: 'string' } } },
    },
    overallRisk: { type: 'string' },
  },
} as const;

const findingState = { type: ['object', 'null'], additionalProperties: false, required: ['status', 'risk'], properties: { status: { type: 'string' }, risk: { type: 'string' } } } as const;

/** GET /v1/reports/{a}/diff/{b} (`diffReports`, src/reports/diff.ts). */
export const ReportDiff = {
  type: 'object',
  additionalProperties: false,
  description:
    'Any two reports the caller may read: two revisions of one assessment, one revision under two ruleset versions, or two assessments. Each side names its report, assessment, revision and ruleset versions; `sameAssessment` says whether the diff is one assessment\'s history.',
  required: ['from', 'to', 'sameAssessment', 'overallRiskChanged', 'changes', 'unchanged'],
  properties: {
    from: diffSide,
    to: diffSide,
    sameAssessment: { type: 'boolean', description: 'Both reports are of one assessment' },
    overallRiskChanged: { type: 'boolean' },
    changes: {
      type: 'array',
      description: 'Findings whose status or risk differ, or that only one report has (null on the other side), sorted by ruleset id and citation',
      items: { type: 'object', additionalProperties: false, required: ['rulesetId', 'citation', 'from', 'to'], properties: { rulesetId: { type: 'string' }, citation: { type: 'string' }, from: findingState, to: findingState } },
    },
    unchanged: { type: 'integer', minimum: 0, description: 'How many findings are the same in both' },
  },
} as const;
