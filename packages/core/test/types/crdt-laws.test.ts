import { describe, it } from 'vitest';
import { checkCrdtLaws } from './harness.ts';
import * as models from './models.ts';

describe('CRDT laws', () => {
  it('ORSet', () => checkCrdtLaws(models.orsetModel));
  it('LWWRegister', () => checkCrdtLaws(models.lwwModel));
  it('MVRegister', () => checkCrdtLaws(models.mvregisterModel));
  it('GCounter', () => checkCrdtLaws(models.gcounterModel));
  it('PNCounter', () => checkCrdtLaws(models.pncounterModel));
  it('BoundedCounter', () => checkCrdtLaws(models.boundedCounterModel));
  it('ORMap of ORSets', () => checkCrdtLaws(models.ormapOfSetsModel));
  it('ORMap of LWW registers', () => checkCrdtLaws(models.ormapOfLwwModel));
  it('ORMap of counters', () => checkCrdtLaws(models.ormapOfCountersModel));
  it('ORMap of ORMaps of MVRegisters', () => checkCrdtLaws(models.nestedMapModel));
  it('Graph', () => checkCrdtLaws(models.graphModel));
  it('TimeSeries', () => checkCrdtLaws(models.timeSeriesModel));
  it('YDoc', () => checkCrdtLaws(models.ydocModel));
});
