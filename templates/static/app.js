/*
 * Light progressive enhancement; every page works without it.
 * - Questionnaire: shows and hides follow-up questions live from their data-show-if condition
 *   (the same rule the server applies: a condition on a hidden or unanswered question is false),
 *   disables the inputs of hidden questions so they are not sent, and updates the progress.
 * - Verify page: loads a chosen file into its textarea (no multipart upload needed).
 * - Error summaries get focus; forms with data-confirm ask first.
 */
/* global document, window, FileReader */
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  function valuesOf(form, id) {
    var out = [];
    var inputs = form.querySelectorAll('[name="answers[' + id + ']"], [name="answers[' + id + '][]"]');
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.disabled) continue;
      if (el.type === 'radio' || el.type === 'checkbox') {
        if (el.checked) out.push(el.value);
      } else if (el.value.trim() !== '') {
        out.push(el.value);
      }
    }
    return out;
  }

  function holds(cond, answered, visible) {
    if (cond.all) return cond.all.every(function (c) { return holds(c, answered, visible); });
    if (cond.any) return cond.any.some(function (c) { return holds(c, answered, visible); });
    if (!visible[cond.question]) return false;
    var values = answered[cond.question] || [];
    if (values.length === 0) return false;
    if (cond.contains !== undefined) return values.indexOf(cond.contains) !== -1;
    return values.length === 1 && cond.in.indexOf(values[0]) !== -1;
  }

  function refresh(form) {
    var questions = form.querySelectorAll('[data-question]');
    var visible = {};
    var answered = {};
    var perSection = {};
    for (var i = 0; i < questions.length; i++) {
      var q = questions[i];
      var id = q.getAttribute('data-question');
      var cond = q.getAttribute('data-show-if');
      var show = true;
      if (cond) {
        try { show = holds(JSON.parse(cond), answered, visible); } catch { show = true; }
      }
      q.hidden = !show;
      var controls = q.querySelectorAll('input, textarea, select');
      for (var j = 0; j < controls.length; j++) controls[j].disabled = !show;
      visible[id] = show;
      answered[id] = show ? valuesOf(form, id) : [];
      var section = q.closest('[data-section]');
      if (section) {
        var key = section.getAttribute('data-section');
        var s = perSection[key] || (perSection[key] = { shown: 0, answered: 0 });
        if (show) {
          s.shown += 1;
          if (answered[id].length > 0) s.answered += 1;
        }
      }
    }
    var total = { shown: 0, answered: 0 };
    Object.keys(perSection).forEach(function (key) {
      var s = perSection[key];
      total.shown += s.shown;
      total.answered += s.answered;
      var bar = document.querySelector('[data-progress="' + key + '"]');
      if (bar) { bar.max = Math.max(s.shown, 1); bar.value = s.answered; bar.textContent = s.answered + ' of ' + s.shown; }
      var text = document.querySelector('[data-progress-text="' + key + '"]');
      if (text) text.textContent = s.answered + ' of ' + s.shown + ' answered';
      var count = document.querySelector('[data-progress-count="' + key + '"]');
      if (count) count.textContent = s.answered + '/' + s.shown;
    });
    var totalBar = document.querySelector('[data-progress-total]');
    if (totalBar) { totalBar.max = Math.max(total.shown, 1); totalBar.value = total.answered; }
    var a = document.querySelector('[data-progress-total-answered]');
    if (a) a.textContent = String(total.answered);
    var v = document.querySelector('[data-progress-total-visible]');
    if (v) v.textContent = String(total.shown);
  }

  function init() {
    var form = document.querySelector('form[data-questionnaire]');
    if (form) {
      refresh(form);
      form.addEventListener('change', function () { refresh(form); });
      form.addEventListener('input', function () { refresh(form); });
    }

    var loaders = document.querySelectorAll('input[type=file][data-load-into]');
    for (var i = 0; i < loaders.length; i++) {
      (function (input) {
        input.hidden = false;
        input.addEventListener('change', function () {
          var file = input.files && input.files[0];
          var target = document.getElementById(input.getAttribute('data-load-into'));
          if (!file || !target) return;
          var reader = new FileReader();
          reader.onload = function () { target.value = String(reader.result); };
          reader.readAsText(file, 'utf-8');
        });
      })(loaders[i]);
    }

    var confirmForms = document.querySelectorAll('form[data-confirm]');
    for (var k = 0; k < confirmForms.length; k++) {
      confirmForms[k].addEventListener('submit', function (e) {
        if (!window.confirm(this.getAttribute('data-confirm'))) e.preventDefault();
      });
    }

    var summary = document.querySelector('[data-autofocus]');
    if (summary) summary.focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
