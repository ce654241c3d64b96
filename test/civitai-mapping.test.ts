/**
 * The Civitai → rows mapping on payloads written for these tests, covering the field drift the API shows:
 * commercial-use shapes, NSFW levels, base-model spellings, hash key case, free-form `meta`, unknown enums,
 * early-access fields, and errors that name the JSON path.
 */
import { describe, expect, it } from 'vitest';
import { JsonReader } from '../src/civitai/json-reader.ts';
import {
  looseSeed,
  mapBaseModel,
  mapCommercialUse,
  mapImage,
  mapModelPayload,
  mapNsfwLevel,
  mapVersionPayload,
  payloadKind,
} from '../src/civitai/mapping.ts';
import { ownFixture } from './helpers/fixtures.ts';

describe('enumerations and drift', () => {
  it.each([
    ['Sell', 'Sell'],
    [['Image', 'RentCivit'], 'Rent'],
    ['{Image,RentCivit}', 'Rent'],
    ['{Image}', 'Image'],
    [[], 'None'],
    ['None', 'None'],
    [['Sell', 'Image'], 'Sell'],
    [null, 'None'],
    [['Unknown', 'Rent'], 'Rent'],
  ])('allowCommercialUse %j → %s', (raw, expected) => expect(mapCommercialUse(raw)).toBe(expected));

  it.each([
    [1, undefined, 'None'],
    [2, undefined, 'Soft'],
    [4, undefined, 'Mature'],
    [8, undefined, 'X'],
    [16, undefined, 'X'],
    [32, undefined, 'X'],
    [6, undefined, 'Mature'],
    ['Soft', undefined, 'Soft'],
    ['X', undefined, 'X'],
    ['none', undefined, 'None'],
    [undefined, true, 'Soft'],
    [undefined, false, 'None'],
    [0, undefined, 'None'],
  ])('nsfwLevel %j (nsfw %j) → %s', (level, flag, expected) => expect(mapNsfwLevel(level, flag)).toBe(expected));

  it.each([
    ['SD 1.5', 'SD15'],
    ['SDXL 1.0', 'SDXL10'],
    ['Flux.1 D', 'Flux1D'],
    ['Pony', 'Pony'],
    ['SD 1.4', 'SD14'],
    ['SD 2.1', 'SD21'],
    ['SDXL Turbo', 'SDXLTurbo'],
    ['SD 3.5 Large', 'SD35Large'],
    ['SD 1.5 LCM', 'SD15LCM'],
    ['Hunyuan Video', 'HunyuanVideo'],
    ['Qwen Image', 'Other'],
    [null, 'Unknown'],
  ])('baseModel %j → %s', (raw, expected) => expect(mapBaseModel(raw)).toBe(expected));

  it('keeps 64-bit seeds exact and drops what does not fit', () => {
    expect(looseSeed('9007199254740993')).toBe(9007199254740993n);
    expect(looseSeed(2494203713)).toBe(2494203713n);
    expect(looseSeed('18446744073709551615')).toBeNull();
    expect(looseSeed(1.5)).toBeNull();
    expect(looseSeed('seed')).toBeNull();
  });
});

describe('a model payload', () => {
  const model = mapModelPayload(new JsonReader(ownFixture('model-drift.json')));
  const flux = model.versions[0]!;

  it('maps the model, logging values it had to fall back on', () => {
    expect(model).toMatchObject({
      civitaiId: 7001,
      name: 'Lantern Glow Style',
      type: 'Other',
      isNsfw: true,
      isPoi: false,
      mode: 'Archived',
      allowNoCredit: false,
      allowCommercialUse: 'Rent',
      allowDerivatives: true,
      allowDifferentLicense: false,
      creator: { username: 'LanternMaker', avatarUrl: 'https://avatars.example.invalid/lantern.png' },
    });
    expect(model.tags).toEqual(['Lighting', 'Night Scenes', 'style']);
    expect(model.warnings).toEqual(['model type "SuperLoraV9" is not known: stored as Other']);
  });

  it('maps versions, stats, early access and trigger words', () => {
    expect(flux).toMatchObject({
      civitaiId: 8101,
      name: 'v2 flux',
      baseModel: 'Flux1D',
      baseModelRaw: 'Flux.1 D',
      earlyAccessDays: 5,
      downloadCount: 1234,
      ratingCount: 10,
      rating: 4.75,
      thumbsUpCount: 321,
      thumbsDownCount: 2,
      trainedWords: ['lanternglow', 'warm light'],
      createdAt: new Date('2025-03-04T05:06:07.089Z'),
      publishedAt: new Date('2025-03-04T06:00:00.000Z'),
    });
    // A count the payload does not give says nothing: the stored one stays (a new row starts at 0).
    expect(model.versions[1]).toMatchObject({ baseModel: 'SD15', earlyAccessDays: 3, thumbsUpCount: undefined });
  });

  it('maps files with every hash upper-cased, whatever the key case', () => {
    expect(flux.files[0]).toEqual({
      path: '$.modelVersions[0].files[0]',
      civitaiId: 9101,
      fileName: 'lantern_glow_flux.safetensors',
      sizeKB: 18000.5,
      fileType: 'Model',
      isPrimary: true,
      format: 'SafeTensor',
      precision: 'BF16',
      sizeType: 'Pruned',
      downloadUrl: 'https://civitai.example.invalid/api/download/models/8101',
      pickleScanResult: 'Success',
      pickleScanMessage: 'No Pickle imports',
      virusScanResult: 'Success',
      scannedAt: new Date('2025-03-04T05:10:00.000Z'),
      hashes: {
        autoV1: 'A1B2C3D4',
        autoV2: 'E5F6A7B8C9',
        autoV3: '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
        sha256: 'E5F6A7B8C9D0E1F2A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F80910',
        crc32: '85114A0D',
        blake3: 'FFEEDDCCBBAA99887766554433221100FFEEDDCCBBAA99887766554433221100',
      },
    });
    // What the payload leaves out is undefined (a stored row keeps its value, a new one takes NEW_FILE_DEFAULTS);
    // what it says but this catalog does not know maps to Unknown, Other or Pending.
    expect(flux.files[1]).toMatchObject({
      precision: 'Unknown',
      sizeType: undefined,
      format: 'Other',
      isPrimary: undefined,
      pickleScanResult: 'Pending',
      virusScanResult: 'Danger',
    });
  });

  it('maps images: levels, meta with numbers as strings, junk keys, missing sizes, positions', () => {
    expect(flux.images[0]).toEqual({
      civitaiId: 6101,
      url: 'https://image.example.invalid/lantern/1.jpeg',
      isNsfw: true,
      nsfwLevel: 'Mature',
      width: 832,
      height: 1216,
      blurHash: 'UKO2?U%2Tw=w]~RBVZRi};RPxuwH%3s8tLOs',
      sortOrder: 0,
      createdAt: new Date('2025-03-04T05:20:00.000Z'),
      postId: 7777,
      username: 'LanternMaker',
      prompt: 'lanternglow, a quiet street at night',
      negativePrompt: 'blurry',
      seed: 9007199254740993n,
      steps: 30,
      sampler: 'DPM++ 2M Karras',
      cfgScale: 3.5,
      generationModel: 'flux1-dev',
      denoisingStrength: 0.45,
      likeCount: 12,
      heartCount: 5,
      commentCount: 1,
    });
    expect(flux.images[1]).toMatchObject({
      civitaiId: null,
      isNsfw: false,
      nsfwLevel: 'None',
      width: 0,
      height: 0,
      sortOrder: 1,
      prompt: null,
    });
    // Negative or out-of-range sizes are unknown (0), never stored as they came.
    const odd = mapImage(new JsonReader({ url: 'https://image.example.invalid/x.jpeg', width: -1, height: 1e20 }), 0);
    expect(odd).toMatchObject({ width: 0, height: 0 });
    expect(flux.images[2]).toMatchObject({
      isNsfw: true,
      nsfwLevel: 'Soft',
      seed: null,
      steps: null,
      denoisingStrength: 0.6,
      sortOrder: 2,
    });
  });
});

describe('a model-version payload', () => {
  it('carries part of its model; the rest stays undefined (left as it is on import)', () => {
    const model = mapVersionPayload(new JsonReader(ownFixture('version-payload.json')));
    expect(model).toMatchObject({
      civitaiId: 7002,
      name: 'Mossy Stone Textures',
      type: 'LORA',
      isNsfw: false,
      creator: { username: 'lanternmaker', avatarUrl: null },
    });
    expect(model.description).toBeUndefined();
    expect(model.tags).toBeUndefined();
    expect(model.allowCommercialUse).toBeUndefined();
    expect(model.versions[0]!.files[0]!.hashes.autoV3).toBe('BF82986F8597');
  });
});

describe('payload shapes and errors', () => {
  it('tells payload kinds apart', () => {
    expect(payloadKind(new JsonReader(ownFixture('model-drift.json')))).toBe('model');
    expect(payloadKind(new JsonReader(ownFixture('version-payload.json')))).toBe('version');
    expect(payloadKind(new JsonReader(ownFixture('models-list.json')))).toBe('list');
    expect(payloadKind(new JsonReader(ownFixture('images-page.json')))).toBe('images');
    expect(() => payloadKind(new JsonReader([1, 2]))).toThrow(/expected a Civitai model/);
    expect(() => payloadKind(new JsonReader({ hello: 'world' }))).toThrow(/not a Civitai payload/);
  });

  it.each([
    [
      (m: any) => {
        m.modelVersions[0].files[0].sizeKB = 'big';
      },
      '$.modelVersions[0].files[0].sizeKB: expected a number, got "big".',
    ],
    [
      (m: any) => {
        m.id = -5;
      },
      '$.id: expected a positive integer id, got number -5.',
    ],
    [
      (m: any) => {
        m.modelVersions[1].name = 12;
      },
      '$.modelVersions[1].name: expected a string, got number 12.',
    ],
    [
      (m: any) => {
        m.modelVersions[0].files[0].hashes.SHA256 = 'not-hex';
      },
      '$.modelVersions[0].files[0].hashes.SHA256: expected a hexadecimal hash, got "not-hex".',
    ],
    [
      (m: any) => {
        m.modelVersions[0].images[0].createdAt = 'tomorrow';
      },
      '$.modelVersions[0].images[0].createdAt: expected an ISO-8601 date, got "tomorrow".',
    ],
    [
      (m: any) => {
        m.name = 'x'.repeat(5000);
      },
      '$.name: expected at most 1000 characters, got 5000 characters.',
    ],
    [
      (m: any) => {
        m.modelVersions = Array.from({ length: 1001 }, () => ({}));
      },
      '$.modelVersions: expected at most 1000 items, got 1001 items.',
    ],
    [
      (m: any) => {
        m.modelVersions[0].trainedWords = [1];
      },
      '$.modelVersions[0].trainedWords[0]: expected a string, got number 1.',
    ],
    [
      (m: any) => {
        m.modelVersions[0].trainedWords = [undefined];
      },
      '$.modelVersions[0].trainedWords[0]: expected a string, got nothing (the field is missing).',
    ],
  ])('names the JSON path of a bad value (%#)', (corrupt, message) => {
    const payload = ownFixture('model-drift.json') as Record<string, unknown>;
    corrupt(payload);
    expect(() => mapModelPayload(new JsonReader(payload))).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message }),
    );
  });
});
