/**
 * @module schedules
 */
export {}
